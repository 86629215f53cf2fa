"""The keyed detection stages, from admission to scoring.  No wire code: stages get and return
``streams.records`` and ``streams.messages`` objects, never bytes."""
