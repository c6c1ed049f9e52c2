namespace ChipKit.Cpu;
