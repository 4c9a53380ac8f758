"""Base class of the generated Beckn core models."""

from pydantic import BaseModel, ConfigDict


class CoreModel(BaseModel):
    """Unknown fields are allowed (JSON Schema default) and kept out of the way."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
