"""Article extraction for ingest: HTML page in, clean article out.

The crawler, ``warta extract`` and the evaluation (``python -m evals.eval_extraction``) all call
:func:`extract`, so what is measured is what runs.
"""

from services.ingest.extract.core import extract
from services.ingest.extract.model import ExtractedArticle

__all__ = ["ExtractedArticle", "extract"]
