"""Finished transcripts: human review, word-level corrections, and exports (text, SRT, WebVTT, JSON)."""
