"""Reading data into the canonical model: interactions, items, optional users."""

from interestlens.data.ids import IdMap
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset

__all__ = ["ITEM_ID", "RATING", "TIMESTAMP", "USER_ID", "Dataset", "IdMap"]
