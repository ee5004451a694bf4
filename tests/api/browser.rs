//! Real-browser tests (headless Chromium through chromedriver).
