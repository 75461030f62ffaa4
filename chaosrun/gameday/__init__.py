"""Game days: plans, a guided and recorded session, and the report afterwards."""
