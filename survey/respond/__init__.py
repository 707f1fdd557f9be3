"""The public questionnaire a phone reaches from a QR: no login, no JavaScript needed."""
