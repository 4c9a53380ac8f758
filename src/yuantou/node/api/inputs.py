"""What the business API takes: every number bounded and finite, every text as long as its column.

``Input`` refuses NaN and infinities; the annotated types below bound the rest (``Number`` only its size,
so that the service layer's own refusal, with its code, tells a household what is wrong with a quantity) (``domain.amounts``), so no
request can hand the service layer a number whose arithmetic would freeze the node or a text the store cannot
hold. Refusals are FastAPI's 422 with the path of the field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from yuantou.domain.amounts import MAX_AMOUNT, MAX_DECIMALS

_DIGITS = len(str(MAX_AMOUNT)) + MAX_DECIMALS


class Input(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)


Number = Annotated[Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=_DIGITS, decimal_places=MAX_DECIMALS)]
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=_DIGITS, decimal_places=MAX_DECIMALS)]
PositiveAmount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, max_digits=_DIGITS, decimal_places=MAX_DECIMALS)]
Quantity = Annotated[float, Field(gt=0, le=float(MAX_AMOUNT))]
Count = Annotated[float, Field(ge=0, le=float(MAX_AMOUNT))]
Id = Annotated[str, Field(min_length=1, max_length=128)]
MessageId = Annotated[str, Field(min_length=1, max_length=64)]  # a Beckn transaction or message id
SubscriberId = Annotated[str, Field(min_length=1, max_length=255)]
ShortText = Annotated[str, Field(max_length=128)]
Text = Annotated[str, Field(max_length=500)]
