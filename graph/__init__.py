"""The lineage graph: values, rules, algorithms and storage. No web framework here."""
