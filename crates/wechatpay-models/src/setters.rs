//! Requests are built by name: `CancelRequest::default().out_order_no("RENT1")…`, one
//! setter per field, named as the field. A required field left out is refused by
//! `Endpoint::validate_at` before anything is sent, naming the field.

/// `setters!(Type { required: T, …; optional: T, … })`: a setter per field, taking
/// anything that converts into the field's type; an optional field's setter takes the
/// value itself and stores `Some`.
macro_rules! setters {
    ($Ty:ident { $($f:ident: $T:ty),* $(,)? ; $($o:ident: $OT:ty),* $(,)? }) => {
        impl $Ty {
            $(
                #[doc = concat!("Sets [`", stringify!($f), "`](Self::", stringify!($f), ").")]
                #[must_use]
                pub fn $f(mut self, v: impl Into<$T>) -> Self {
                    self.$f = v.into();
                    self
                }
            )*
            $(
                #[doc = concat!("Sets [`", stringify!($o), "`](Self::", stringify!($o), ").")]
                #[must_use]
                pub fn $o(mut self, v: impl Into<$OT>) -> Self {
                    self.$o = Some(v.into());
                    self
                }
            )*
        }
    };
}
