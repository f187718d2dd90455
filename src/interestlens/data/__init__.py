"""Reading data into the canonical model: interactions, items, optional users."""

from interestlens.data.amazon import load_amazon
from interestlens.data.columns import TableSource
from interestlens.data.ids import IdMap
from interestlens.data.io import load_dataset, read_table
from interestlens.data.movielens import load_movielens
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.validate import validate_dataset

__all__ = [
    "ITEM_ID",
    "RATING",
    "TIMESTAMP",
    "USER_ID",
    "Dataset",
    "IdMap",
    "TableSource",
    "load_amazon",
    "load_dataset",
    "load_movielens",
    "read_table",
    "validate_dataset",
]
