"""A tiny random causal LM and a character tokenizer built locally (no download): smoke tests of the
integrations on CPU in seconds (tests, ``docs/llm_integrations.md``, ``benchmarks/bench_llm_integrations.py``).

Needs ``transformers`` and ``tokenizers`` (both come with ``trl``).
"""

from __future__ import annotations

__all__ = ["CHARS", "tiny_tokenizer", "tiny_model"]

#: Characters of the default vocabulary (after ``<pad>`` = 0, ``<eos>`` = 1, ``<unk>`` = 2).
CHARS = "lsr0123456789 :pogtaeinh"


def tiny_tokenizer(chars: str = CHARS):
    """``PreTrainedTokenizerFast`` with one token per character of ``chars`` plus ``<pad>``, ``<eos>``, ``<unk>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if not isinstance(chars, str) or not chars:
        raise ValueError("chars must be a non-empty str")
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def tiny_model(vocab_size: int, *, seed: int = 0, hidden_size: int = 16, layers: int = 2):
    """Random ``LlamaForCausalLM`` (``layers`` layers, ``hidden_size``, 2 heads), ``<pad>`` = 0, ``<eos>`` = 1."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=None,
    )
    return LlamaForCausalLM(cfg)
