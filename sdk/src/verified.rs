//! Evidence of a successful verification. Only this crate can build a [`Verified`], so holding
//! one proves the check ran and passed (STYLE rule 7).

use core::ops::Deref;

/// A value that passed verification. Construct it only by calling a verification method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }
    /// Gives up the evidence wrapper.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
