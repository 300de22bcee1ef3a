"""ITSM sync for redirected incidents: the component and its two workflow definitions."""
