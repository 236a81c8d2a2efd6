using ChittyConnect.Emulator;

EmulatorOptions options;
try
{
    options = EmulatorOptions.Parse(args, Environment.GetEnvironmentVariable(EmulatorOptions.KeysEnvironmentVariable));
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(EmulatorOptions.Usage);
    return 2;
}

options.HandleConsoleSignals = true;
if (options.UsesDemoKey)
{
    Console.Error.WriteLine($"No --key and no {EmulatorOptions.KeysEnvironmentVariable}: using the demo key {EmulatorOptions.DemoKey}");
}

await using var app = await EmulatorApp.StartAsync(options);
Console.Out.WriteLine(app.ReadyLine);
Console.Out.Flush();
await app.WaitForShutdownAsync();
return 0;
