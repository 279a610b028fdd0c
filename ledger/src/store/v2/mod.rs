//! Storage v2 (`evl-store/2`, docs/design.md "Storage v2"): the row codecs of a layout whose
//! write cost per node does not grow with the log. Segments of consecutive nodes, hash tiles
//! with their interior levels, and the id map as sorted runs, each row ending in a checksum
//! that every read checks. The backend that stores these rows is not built yet (issue 14);
//! these codecs are backend-neutral (a networked store keeps one row per tile or segment).

pub mod checksum;
pub mod idrun;
pub mod redb;
pub mod segment;
pub mod tile;
