//! With the `python` feature, the interpreter's cfgs (`Py_GIL_DISABLED`,
//! `Py_3_*`) for the binding layer.

fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::use_pyo3_cfgs();
}
