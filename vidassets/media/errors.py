"""The one error type media code raises for bad inputs, so callers can fail a run without retrying."""


class InvalidMediaError(ValueError):
    """An input that is not a usable video/audio file. The message is always ``"<name>: <cause>"``.

    `name` is a display name (an S3 key or upload name), never a scratch path, so the message can be shown
    to the person who uploaded the file.
    """

    def __init__(self, name: str, cause: str) -> None:
        self.name = name
        self.cause = cause
        super().__init__(f"{name}: {cause}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Default exception pickling replays self.args (the joined message) into __init__, which takes two.
        return (type(self), (self.name, self.cause))
