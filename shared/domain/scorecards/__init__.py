"""Scorecard data files (`v<N>.json`) and the reference personas they are calibrated against.

The scoring engine lives in `shared.domain.scoring`; this package only ships
data and the typed loader for the personas (`personas.py`). README.md explains
every choice of each scorecard version.
"""
