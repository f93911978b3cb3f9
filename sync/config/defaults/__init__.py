"""Files the package ships: the sandbox and example configs and the email templates.

They are package data, read with `importlib.resources`, so an installed wheel finds them wherever
it is installed and whatever the working directory; a config copied to `/etc` uses these
templates unless it names its own `email.templates_dir`. In the repository the files live in
`config/`, where people read, copy and edit them; the entries here are symbolic links to them,
which the wheel build follows, so there is one copy of each and nothing to keep in step.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

SANDBOX_CONFIG = "sandbox.toml"
EXAMPLE_CONFIG = "example.toml"
TEMPLATES = "templates"


def packaged(name: str) -> Traversable:
    """One shipped file (or folder), e.g. `packaged("sandbox.toml")`."""
    return resources.files(__name__).joinpath(name)


def template(name: str) -> Traversable:
    """A shipped email template by its name without `.txt`, e.g. `template("alert")`."""
    return packaged(TEMPLATES).joinpath(f"{name}.txt")
