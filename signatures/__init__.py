"""Every dspy.Signature of foveate_dspy, one module per level.

Signatures hold nothing but signatures: the prompts a teleprompter may rewrite. Modules that use
them live in `foveate_dspy`, `evals` and `finetune`.
"""
