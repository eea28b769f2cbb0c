// placeholder replaced by the SSEXI.js build (issue 3)
