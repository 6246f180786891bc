//! Integration tests of adopt-report: verdicts on constructed inputs, the real clean report of
//! the bank example, escaping of hostile names, and rendering in a real headless browser.

mod browser;
mod sample;
mod verdicts;
mod writing;
