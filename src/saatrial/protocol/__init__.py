"""The trial protocol as data: arms, dose levels, regimen, visits, decisions D1-D19."""

from saatrial.protocol.model import DrugRegimen, Protocol, Visit, load_protocol

__all__ = ["DrugRegimen", "Protocol", "Visit", "load_protocol"]
