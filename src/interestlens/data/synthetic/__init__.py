"""A deterministic demo dataset with known interests: readable items, users, noisy behaviour.

>>> dataset, truth = make_demo_dataset(seed=0)
>>> dataset.items.columns.tolist()
['item_id', 'title', 'description', 'category', 'price']

See :mod:`interestlens.data.synthetic.generator` for how the data is made.
"""

from __future__ import annotations

from interestlens.data.synthetic.files import read_demo_truth, write_demo_files
from interestlens.data.synthetic.generator import make_demo_dataset
from interestlens.data.synthetic.truth import DemoTruth
from interestlens.data.synthetic.vocab import THEMES

THEME_NAMES: tuple[str, ...] = tuple(theme.name for theme in THEMES)

__all__ = ["THEME_NAMES", "DemoTruth", "make_demo_dataset", "read_demo_truth", "write_demo_files"]
