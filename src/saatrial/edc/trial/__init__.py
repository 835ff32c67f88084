"""Clinical data models: one per data-dictionary table (see :mod:`saatrial.edc.trial.models`)."""
