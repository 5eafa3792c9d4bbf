"""Root pytest configuration: which modules the docstring run (``--doctest-modules``) may import.

The framework integrations import their framework at module level (that is their job); without
the framework installed there is nothing to run in them, so they are skipped at collection, the
same way their tests skip (``tests/test_llm_integrations_*.py``).
"""

import importlib.util

collect_ignore = [
    path
    for path, needs in (
        ("mdp/llm/integrations/trl.py", "trl"),
        ("mdp/llm/integrations/verl.py", "verl"),
    )
    if importlib.util.find_spec(needs) is None
]
