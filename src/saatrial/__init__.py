"""saatrial: run a paediatric severe aplastic anaemia IST +/- UC-MSC trial end to end."""

__version__ = "0.1.0"
