//! One reader per family of formats. Each turns bytes into text (and tables); none touches the
//! run directory except through a [`crate::table::TableSink`].

pub mod docx;
pub mod html;
pub mod image;
pub mod markdown;
pub mod pdf;
pub mod sheets;
pub mod tabular;
pub mod text;
