"""CSV files people open in spreadsheets: text cells that a spreadsheet would run as a formula
are escaped.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is read as a
formula by Excel, LibreOffice and Google Sheets (CSV injection); an id like
``=HYPERLINK("http://…")`` posted to the service would otherwise run when a colleague opens
``recommendations.csv``. Such text cells get a leading apostrophe (the OWASP advice), which the
spreadsheet shows as text; numeric columns are left alone, so negative scores stay numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: object) -> object:
    """``value`` with a leading apostrophe when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """``frame.to_csv(index=False)`` with formula-like text cells escaped."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(escape_formula)
    return safe.to_csv(index=False)
