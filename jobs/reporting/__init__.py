"""What the daily report draws and renders: the ring drawings and the HTML template."""
