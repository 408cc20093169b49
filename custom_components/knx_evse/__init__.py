"""KNX EV Charger: Home Assistant integration for KNX wallboxes VE 741/742/221/222."""
