"""CultureBank's two-stage knowledge SFT as a ``kind: culturebank-sft`` pipeline (issue 12)."""
