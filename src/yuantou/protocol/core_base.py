"""Base class and integer type of the generated Beckn core models."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class CoreModel(BaseModel):
    """Unknown fields are allowed (JSON Schema default) and kept out of the way."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _integral(value: Any) -> Any:
    """JSON Schema's integer is any number with no fraction: ``1.0`` is one (pydantic's strict int refuses it)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def schema_int(**bounds: Any) -> Any:
    """An integer as JSON Schema reads it, with ``ge``/``le`` bounds like pydantic's ``conint``."""
    return Annotated[int, BeforeValidator(_integral), Field(**bounds)]


SchemaInt = schema_int()
