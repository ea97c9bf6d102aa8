"""One exception type for problems the user can fix.

The UI shows its message in a `gr.Error`, the CLI prints it as one line on
stderr; anything else that escapes is a bug.
"""


class UserError(ValueError):
    """Bad input or parameters, described in words a user can act on."""
