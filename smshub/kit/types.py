"""Small shared value types."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{1,14}$")]
Id = str
