"""The one exception type for user mistakes.

Anything raised as :class:`InitsensError` is a problem with the user's input (a file, a column, an
option value). Its message is a single line that names the offending thing and says what to do;
the CLI prints it without a traceback.
"""


class InitsensError(ValueError):
    """A user-facing error whose message is one self-explanatory line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
