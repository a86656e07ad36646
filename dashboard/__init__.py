"""The operators' dashboard (Plotly Dash)."""
