using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ChipKit.Cpu.Tests")]
