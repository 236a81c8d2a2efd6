using ChittyConnect.Emulator;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorOptionsTests
{
    [Fact]
    public void The_command_line_maps_onto_the_options()
    {
        var options = EmulatorOptions.Parse(
            new[]
            {
                "--urls", "http://127.0.0.1:5099", "--db", "/tmp/x.db",
                "--key", "k1=id1:s1", "--key", "k2=id2:s2:inactive",
                "--s3-endpoint", "http://127.0.0.1:4568", "--s3-bucket", "b", "--s3-access-key", "a", "--s3-secret-key", "s",
                "--production-upload-urls", "--sse-heartbeat-seconds", "2", "--sse-max-seconds", "20",
            },
            environmentKeys: "ignored=x:y");

        Assert.Equal("http://127.0.0.1:5099", options.Urls);
        Assert.Equal("/tmp/x.db", options.DatabasePath);
        Assert.Equal(new[] { new EmulatorApiKey("k1", "id1", "s1"), new EmulatorApiKey("k2", "id2", "s2", IsActive: false) }, options.Keys);
        Assert.Equal(new Uri("http://127.0.0.1:4568"), options.S3Endpoint);
        Assert.Equal(("b", "a", "s"), (options.S3Bucket, options.S3AccessKey, options.S3SecretKey));
        Assert.True(options.ProductionUploadUrls);
        Assert.Equal(TimeSpan.FromSeconds(2), options.SseHeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(20), options.SseMaxDuration);
    }

    [Fact]
    public void Defaults_are_loopback_port_0_15_second_heartbeats_endless_streams_and_the_host_that_was_called()
    {
        var options = EmulatorOptions.Parse(Array.Empty<string>(), environmentKeys: null);

        Assert.Equal("http://127.0.0.1:0", options.Urls);
        Assert.Null(options.DatabasePath);
        Assert.Equal(TimeSpan.FromSeconds(15), options.SseHeartbeatInterval);
        Assert.Equal(TimeSpan.Zero, options.SseMaxDuration);
        Assert.False(options.ProductionUploadUrls);
        Assert.True(options.UsesDemoKey);
        Assert.Equal(new[] { new EmulatorApiKey("demo-key", "chitty-demo", "demo-session") }, options.EffectiveKeys);
    }

    [Fact]
    public void Keys_come_from_CHITTY_EMULATOR_KEYS_when_none_is_given()
    {
        var options = EmulatorOptions.Parse(Array.Empty<string>(), "k1=id1:s1; k2=id2:s2:inactive");

        Assert.False(options.UsesDemoKey);
        Assert.Equal(new[] { new EmulatorApiKey("k1", "id1", "s1"), new EmulatorApiKey("k2", "id2", "s2", false) }, options.EffectiveKeys);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--key")]
    [InlineData("--key", "no-equals")]
    [InlineData("--key", "k=only-id")]
    [InlineData("--sse-heartbeat-seconds", "0")]
    [InlineData("--sse-max-seconds", "-1")]
    [InlineData("--s3-endpoint", "http://127.0.0.1:1")]
    [InlineData("--key", "k=a:b", "--key", "k=c:d")]
    public void Bad_command_lines_are_rejected_with_a_message(params string[] args)
    {
        var ex = Assert.Throws<ArgumentException>(() => EmulatorOptions.Parse(args, environmentKeys: null));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public async Task Started_with_port_0_it_reports_the_real_port_in_its_ready_line()
    {
        await using var app = await EmulatorApp.StartAsync(new EmulatorOptions());

        Assert.NotEqual(0, app.BaseUri.Port);
        Assert.Equal($"ChittyConnect emulator ready on http://127.0.0.1:{app.BaseUri.Port}", app.ReadyLine);
        using var client = new HttpClient { BaseAddress = app.BaseUri };
        client.DefaultRequestHeaders.Add("X-ChittyOS-API-Key", "demo-key");
        Assert.Contains("chitty-demo", await client.GetStringAsync("api/registry/whoami"));
    }
}
