"""The LLM summary path with a tiny randomly initialised causal LM and tokenizer built here (no download):
chat template, greedy generation, map-reduce chunking within the context window, truncation, parsing."""

import re
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from vidassets.ml.summarize import LLMSummarizer, parse_reduce_answer
from vidassets.ml.whisper_weights import ModelNotFoundError
from vidassets.model_config import ModelConfig
from vidassets.resources.models import ModelLoader

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
VOCAB_TEXT = (
    "hello i am from new jersey chicago texas originally they call me a yankee down here so weather "
    "summarize this part of transcript in few sentences here are summaries consecutive parts one "
    "answer exactly format title topics summary short comma separated paragraphs speaker_00 "
    "speaker_01 : , . < > | system user assistant you transcripts recorded conversations be factual "
    "and concise refer to speakers by the labels used "
)
WORDS = re.findall(r"\S+", VOCAB_TEXT)


def _segments(count: int) -> list[dict]:
    lines = ["hello i am from new jersey .", "they call me a yankee down here .", "so originally from chicago ."]
    return [{"start": float(i), "end": i + 0.9, "speaker": f"SPEAKER_0{i % 2}", "text": lines[i % 3]}
            for i in range(count)]


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llm")
    specials = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
    vocab = {token: i for i, token in enumerate(dict.fromkeys([*specials, *WORDS]))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=160,
                         pad_token_id=1, bos_token_id=2, eos_token_id=3)
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_map_reduce_summary_structure(tiny_llm):
    summarizer = LLMSummarizer(str(tiny_llm), device="cpu", max_new_tokens=8)
    result = summarizer.summarize(_segments(4))
    assert result.method == "llm-map-reduce" and result.model == tiny_llm.name
    assert result.speakers == ["SPEAKER_00", "SPEAKER_01"]
    assert isinstance(result.summary, str) and isinstance(result.title, str) and isinstance(result.topics, list)
    assert result.details["generate_calls"] == result.details["chunks"] + 1 == summarizer.calls


def test_long_transcripts_are_chunked_to_the_context_window(tiny_llm):
    summarizer = LLMSummarizer(str(tiny_llm), device="cpu", max_new_tokens=8)
    budget = summarizer.chunk_budget()
    assert 0 < budget < 160
    lines = [f"{s['speaker']}: {s['text']}" for s in _segments(60)]
    chunks = summarizer.chunks(lines)
    assert len(chunks) > 1
    assert all(len(summarizer.tokenizer.encode(c, add_special_tokens=False)) <= budget + 60 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines, "every line kept, in order"
    summarizer.calls = 0
    result = summarizer.summarize(_segments(60))
    assert result.details["chunks"] == len(chunks) and summarizer.calls == len(chunks) + 1


def test_an_enormous_line_is_truncated_to_the_budget(tiny_llm):
    summarizer = LLMSummarizer(str(tiny_llm), device="cpu", max_new_tokens=8)
    (chunk,) = summarizer.chunks(["hello " * 1000])
    assert len(summarizer.tokenizer.encode(chunk, add_special_tokens=False)) <= summarizer.chunk_budget()
    assert summarizer.chunks([]) == []


def test_prompt_uses_the_chat_template(tiny_llm):
    summarizer = LLMSummarizer(str(tiny_llm), device="cpu", max_new_tokens=8)
    text = summarizer.tokenizer.decode(summarizer._prompt_ids("hello"))
    assert re.search(r"<\|system\|>.*<\|user\|> hello <\|assistant\|>$", text)


def test_model_store_caches_the_llm_and_reports_missing_models(tiny_llm, tmp_path):
    store = ModelLoader(ModelConfig(llm_model=str(tiny_llm), device="cpu"))
    assert store.summarizer() is ModelLoader(ModelConfig(llm_model=str(tiny_llm), device="cpu")).summarizer()
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_LLM_MODEL"):
        LLMSummarizer(str(tmp_path / "missing"), device="cpu")


def test_reduce_answer_parsing():
    assert parse_reduce_answer("TITLE: Calls\nTOPICS: a, b\nSUMMARY: It went well.\nMore.") == (
        "Calls", ["a", "b"], "It went well.\nMore.")
    assert parse_reduce_answer("no format at all\nsecond line") == (
        "no format at all", [], "no format at all\nsecond line")
