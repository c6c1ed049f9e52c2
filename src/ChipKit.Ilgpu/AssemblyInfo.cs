using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ChipKit.Ilgpu.Tests")]

// ILGPU generates kernel launchers in a dynamic assembly named ILGPURuntime; it must see the internal operand structs.
[assembly: InternalsVisibleTo("ILGPURuntime")]
