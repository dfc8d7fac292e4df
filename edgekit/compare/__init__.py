"""Set measured figures beside others: the papers' (``papers``), a saved baseline (``regress``)."""
