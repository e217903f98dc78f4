//! A loaded module: validated wasmi code, the SHA-256 of its bytes, its name, and a description of
//! its imports and exports read once with wasmparser (used by the import pre-flight and `inspect`).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha256};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// A value type as it appears in a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValKind {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    OtherRef,
}

impl fmt::Display for ValKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValKind::I32 => "i32",
            ValKind::I64 => "i64",
            ValKind::F32 => "f32",
            ValKind::F64 => "f64",
            ValKind::V128 => "v128",
            ValKind::FuncRef => "funcref",
            ValKind::ExternRef => "externref",
            ValKind::OtherRef => "ref",
        })
    }
}

impl From<wasmparser::ValType> for ValKind {
    fn from(ty: wasmparser::ValType) -> Self {
        match ty {
            wasmparser::ValType::I32 => ValKind::I32,
            wasmparser::ValType::I64 => ValKind::I64,
            wasmparser::ValType::F32 => ValKind::F32,
            wasmparser::ValType::F64 => ValKind::F64,
            wasmparser::ValType::V128 => ValKind::V128,
            wasmparser::ValType::Ref(r) if r.is_func_ref() => ValKind::FuncRef,
            wasmparser::ValType::Ref(r) if r.is_extern_ref() => ValKind::ExternRef,
            wasmparser::ValType::Ref(_) => ValKind::OtherRef,
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    pub params: Vec<ValKind>,
    pub results: Vec<ValKind>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[ValKind]| -> fmt::Result {
            f.write_str("(")?;
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{t}")?;
            }
            f.write_str(")")
        };
        list(f, &self.params)?;
        f.write_str(" -> ")?;
        list(f, &self.results)
    }
}

/// What an import or export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternKind {
    Func(Signature),
    Table,
    Memory,
    Global,
    Tag,
}

pub type ImportKind = ExternKind;
pub type ExportKind = ExternKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDesc {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportDesc {
    pub name: String,
    pub kind: ExportKind,
}

/// What a module imports and exports, read without compiling it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    pub imports: Vec<ImportDesc>,
    pub exports: Vec<ExportDesc>,
    /// The index of the start function (run by instantiation, before any export), if any.
    pub start: Option<u32>,
}

impl ModuleInfo {
    /// Reads the type, import, function and export sections. Errors are wasmparser's text.
    ///
    /// Stops at the first section that follows them in a module's fixed section order (start,
    /// element, data count, code, data): what comes after is the bulk of a module (a Go module's
    /// 1.5 MB of code and 27 000 data segments) and none of it is needed here. Only validation
    /// ([`crate::Runtime::load`]) tells whether the rest is well-formed.
    pub fn read(bytes: &[u8]) -> Result<Self, String> {
        let mut types: Vec<Signature> = Vec::new();
        let mut func_types: Vec<u32> = Vec::new();
        let mut imports = Vec::new();
        let mut raw_exports = Vec::new();
        let mut saw_header = false;
        let mut start = None;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| crate::runtime::one_line(&e.to_string()))? {
                Payload::Version { .. } => saw_header = true,
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        let ty = ty.map_err(|e| e.to_string())?;
                        types.push(Signature {
                            params: ty.params().iter().map(|&t| t.into()).collect(),
                            results: ty.results().iter().map(|&t| t.into()).collect(),
                        });
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader {
                        let import = import.map_err(|e| e.to_string())?;
                        let kind = match import.ty {
                            TypeRef::Func(index) => {
                                func_types.push(index);
                                ImportKind::Func(signature(&types, index)?)
                            }
                            TypeRef::Table(_) => ImportKind::Table,
                            TypeRef::Memory(_) => ImportKind::Memory,
                            TypeRef::Global(_) => ImportKind::Global,
                            TypeRef::Tag(_) => ImportKind::Tag,
                        };
                        imports.push(ImportDesc {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            kind,
                        });
                    }
                }
                Payload::FunctionSection(reader) => {
                    for index in reader {
                        func_types.push(index.map_err(|e| e.to_string())?);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| e.to_string())?;
                        raw_exports.push((export.name.to_string(), export.kind, export.index));
                    }
                }
                Payload::StartSection { func, .. } => {
                    start = Some(func);
                    break;
                }
                Payload::ElementSection(_)
                | Payload::DataCountSection { .. }
                | Payload::CodeSectionStart { .. }
                | Payload::DataSection(_) => break,
                _ => {}
            }
        }
        if !saw_header {
            return Err(String::from("empty input"));
        }
        let mut exports = Vec::with_capacity(raw_exports.len());
        for (name, kind, index) in raw_exports {
            let kind = match kind {
                ExternalKind::Func => {
                    let ty = *func_types.get(index as usize).ok_or_else(|| {
                        format!("export {name} refers to unknown function {index}")
                    })?;
                    ExportKind::Func(signature(&types, ty)?)
                }
                ExternalKind::Table => ExportKind::Table,
                ExternalKind::Memory => ExportKind::Memory,
                ExternalKind::Global => ExportKind::Global,
                ExternalKind::Tag => ExportKind::Tag,
            };
            exports.push(ExportDesc { name, kind });
        }
        Ok(ModuleInfo {
            imports,
            exports,
            start,
        })
    }

    /// The signature of exported function `name`, if there is one.
    pub fn export_signature(&self, name: &str) -> Option<&Signature> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| match &e.kind {
                ExportKind::Func(sig) => Some(sig),
                _ => None,
            })
    }
}

fn signature(types: &[Signature], index: u32) -> Result<Signature, String> {
    types
        .get(index as usize)
        .cloned()
        .ok_or_else(|| format!("unknown type index {index}"))
}

/// A validated module, ready to instantiate any number of times.
#[derive(Clone)]
pub struct Module {
    name: String,
    hash: [u8; 32],
    size: usize,
    info: ModuleInfo,
    pub(crate) inner: wasmi::Module,
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("sha256", &self.hash_hex())
            .finish()
    }
}

impl Module {
    pub(crate) fn new(name: String, bytes: &[u8], info: ModuleInfo, inner: wasmi::Module) -> Self {
        let hash = sha256(bytes);
        Module {
            name,
            hash,
            size: bytes.len(),
            info,
            inner,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the module's bytes.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }

    /// Size of the module's bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}
