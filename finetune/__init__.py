"""Downstream evaluation of synthesised instruction data: QLoRA fine-tuning and scoring.

The paper's strongest evidence (Table 4, Figure 3) is downstream: a base model tuned on the
synthesised pairs answers the corpus's own test questions better. This package closes that loop:

- `finetune.train`     QLoRA (4-bit NF4) or plain LoRA on an `instructions.jsonl`
- `finetune.evaluate`  answers test questions, scores recall and judged accuracy
- `finetune.compare`   several instruction sets (and data scales) against one base model
- `finetune.tiny`      a tiny random Llama with an offline-trained tokenizer, for CI and demos

Nothing heavy is imported here, so `python -m finetune --help` answers at once.
"""
