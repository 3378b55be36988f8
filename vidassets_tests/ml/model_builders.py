"""Tiny, randomly initialised models saved in the on-disk formats production loads, built offline in seconds.

The weights are meaningless (seeded, so every build is identical); the files, configs and loading code paths
are the real ones, so tests can drive `whisperx.load_align_model`/`whisperx.align` and pyannote's
`SpeakerDiarization` pipeline end to end without any download.
"""

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pytest

SEED = 0
ALIGN_VOCAB = ("<pad>", "<unk>", "|", "'", *"abcdefghijklmnopqrstuvwxyz")
EMBEDDING_DIM = 32
PLDA_DIM = 16


def build_tiny_wav2vec2(directory: Path) -> Path:
    """A Hugging Face `Wav2Vec2ForCTC` + `Wav2Vec2Processor` directory with a lower-case character vocabulary
    (`|` between words, `<pad>` as the CTC blank); 2 transformer layers of width 32, 20 ms frames."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(ALIGN_VOCAB)}
    vocab_file = directory / "vocab.json"
    vocab_file.write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|", bos_token=None,
        eos_token=None,
    )
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=False
    )
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(directory)
    config = Wav2Vec2Config(
        vocab_size=len(vocab), pad_token_id=vocab["<pad>"], bos_token_id=None, eos_token_id=None,
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32, 32, 32), conv_kernel=(10, 8, 8), conv_stride=(5, 8, 8),  # 320 samples (20 ms) a frame
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, feat_extract_norm="group",
        do_stable_layer_norm=False, mask_time_prob=0.0, ctc_loss_reduction="mean",
    )
    torch.manual_seed(SEED)
    Wav2Vec2ForCTC(config).eval().save_pretrained(directory)
    return directory


def _tiny_embedding_checkpoint(path: Path) -> None:
    """A randomly initialised pyannote `XVectorMFCC` saved as pyannote/Lightning save it (`Model.from_pretrained`
    reads `pyannote.audio` for the class and specifications, Lightning re-creates it from `hyper_parameters`)."""
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC

    torch.manual_seed(SEED)
    model = XVectorMFCC(sample_rate=16_000, dimension=EMBEDDING_DIM).eval()
    model.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    checkpoint = {
        "pytorch-lightning_version": lightning.__version__,
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
    }
    model.on_save_checkpoint(checkpoint)  # adds the "pyannote.audio" section (versions, architecture, specs)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _synthetic_plda(directory: Path) -> None:
    """`xvec_transform.npz` (mean1, mean2, lda) and `plda.npz` (mu, tr, psi) as `pyannote.audio.utils.vbx`
    reads them: a random LDA projection and an orthonormal PLDA transform with decreasing between-class
    variances, so VBx has well-conditioned matrices to work with."""
    rng = np.random.default_rng(SEED)
    directory.mkdir(parents=True, exist_ok=True)
    lda = rng.standard_normal((EMBEDDING_DIM, PLDA_DIM)) / np.sqrt(EMBEDDING_DIM)
    np.savez(directory / "xvec_transform.npz", mean1=np.zeros(EMBEDDING_DIM), mean2=np.zeros(PLDA_DIM), lda=lda)
    tr, _ = np.linalg.qr(rng.standard_normal((PLDA_DIM, PLDA_DIM)))
    np.savez(directory / "plda.npz", mu=np.zeros(PLDA_DIM), tr=tr, psi=np.linspace(5.0, 0.5, PLDA_DIM))


PIPELINE_CONFIG = """\
dependencies:
  pyannote.audio: {version}
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    segmentation: $model/segmentation
    embedding: $model/embedding
    plda: $model/plda
    segmentation_step: 0.5
    clustering: VBxClustering
    embedding_exclude_overlap: true
    segmentation_batch_size: 16
    embedding_batch_size: 16
params:
  segmentation:
    threshold: 0.5
    min_duration_off: 0.0
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
"""


def build_pyannote_pipeline_dir(directory: Path) -> Path:
    """A self-contained pyannote `SpeakerDiarization` directory laid out like the hub's community-1 pipeline:
    `config.yaml` whose `$model/...` entries resolve to `segmentation/pytorch_model.bin` (whisperx's bundled
    pyannote segmentation model, real weights), `embedding/pytorch_model.bin` (tiny random x-vector) and
    `plda/{xvec_transform,plda}.npz` (synthetic). Returns the directory holding `config.yaml`.

    The one deliberate difference from a production config: the segmentation window slides by half its length
    (`segmentation_step: 0.5`, pyannote's default is 0.1), so the 30 s sample diarizes in ~1 s instead of ~5 s."""
    import importlib.metadata

    import whisperx

    directory = Path(directory)
    (directory / "segmentation").mkdir(parents=True, exist_ok=True)
    segmentation = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"  # pyannote/segmentation (v2)
    shutil.copyfile(segmentation, directory / "segmentation" / "pytorch_model.bin")
    _tiny_embedding_checkpoint(directory / "embedding" / "pytorch_model.bin")
    _synthetic_plda(directory / "plda")
    version = importlib.metadata.version("pyannote-audio")
    (directory / "config.yaml").write_text(PIPELINE_CONFIG.format(version=version))
    return directory


def offline_guard(monkeypatch: "pytest.MonkeyPatch", home: Path) -> list[str]:
    """Make any download attempt fail loudly and be recorded (the returned list): hub and Transformers offline,
    HF/torch hub caches and our model cache under `home`, pyannote telemetry off, internet sockets,
    `nltk.download` and `torch.hub.download_url_to_file` refused."""
    import socket

    import nltk
    import torch.hub

    attempts: list[str] = []
    for name, value in {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(home / "hf"),
        "TORCH_HOME": str(home / "torch"), "VIDASSETS_MODEL_CACHE": str(home / "vidassets"),
        "PYANNOTE_METRICS_ENABLED": "false",
    }.items():
        monkeypatch.setenv(name, value)

    def refuse(what: str):
        def refused(*args, **kwargs):
            attempts.append(f"{what}{args!r}")
            raise OSError(f"test forbids network access: {what}{args!r}")

        return refused

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse("socket.connect")(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse("socket.connect_ex")(address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(nltk, "download", refuse("nltk.download"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse("torch.hub.download_url_to_file"))
    return attempts


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*") if p.is_file()) if Path(directory).exists() else []


TEXT_CLASSIFIER_VOCAB = (
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "you", "are", "a", "the", "stupid", "idiot", "meeting", "today", "thank", "call", "me", "nice", "weather",
    "hello",
)


def build_tiny_text_classifier(directory: Path, labels: tuple[str, ...], *, multi_label: bool = True,
                               biases: dict[str, float] | None = None) -> Path:
    """A Hugging Face `BertForSequenceClassification` + WordPiece tokenizer directory, 2 layers of width 32, with
    `labels` as `id2label` (Detoxify-style multi-label by default). `biases` sets the classifier bias of chosen
    labels (e.g. +8 makes a label fire on any text), so tests can check the label -> category plumbing."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(TEXT_CLASSIFIER_VOCAB) + "\n")
    BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True).save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(TEXT_CLASSIFIER_VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    torch.manual_seed(SEED)
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(0.01)
        model.classifier.bias.fill_(-4.0)
        for label, value in (biases or {}).items():
            model.classifier.bias[labels.index(label)] = value
    model.save_pretrained(directory)
    return directory
