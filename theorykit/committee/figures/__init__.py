"""Paper figures of the committee machine (Worschech & Rosenow)."""
