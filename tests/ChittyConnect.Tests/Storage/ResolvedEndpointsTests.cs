using Amazon.Runtime.Endpoints;
using Amazon.S3.Endpoints;
using Amazon.S3.Internal;
using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>The endpoint rules are evaluated once per bucket, and answer as the SDK's own rules would.</summary>
public sealed class ResolvedEndpointsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:4568")]
    [InlineData("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com")]
    public void Every_key_of_a_bucket_gets_the_rules_answer_and_the_rules_run_once(string endpoint)
    {
        var rules = new CountingRules(new AmazonS3EndpointProvider());
        var resolved = new S3Transport.ResolvedEndpoints(rules);
        var keys = new[] { "a.txt", "files/naïve big+file.bin", "x/../y", "arn:aws:s3:us-east-1:1:accesspoint/ap", "%2F?=&#", new string('k', 1024) };

        foreach (var key in keys)
        {
            var expected = new AmazonS3EndpointProvider().ResolveEndpoint(Parameters(endpoint, "bucket", key));
            var answer = resolved.ResolveEndpoint(Parameters(endpoint, "bucket", key));
            Assert.Equal(expected.URL, answer.URL);
            Assert.Equal(Schemes(expected), Schemes(answer));
        }

        Assert.Equal(1, rules.Calls);
        Assert.NotEqual(resolved.ResolveEndpoint(Parameters(endpoint, "bucket", "k")).URL, resolved.ResolveEndpoint(Parameters(endpoint, "other", "k")).URL);
        Assert.Equal(2, rules.Calls);
    }

    [Fact]
    public void A_configuration_the_rules_refuse_is_refused_every_time()
    {
        var rules = new CountingRules(new AmazonS3EndpointProvider());
        var resolved = new S3Transport.ResolvedEndpoints(rules);
        var bad = Parameters("not a url", "bucket", "k");

        Assert.ThrowsAny<Exception>(() => resolved.ResolveEndpoint(bad));
        Assert.ThrowsAny<Exception>(() => resolved.ResolveEndpoint(bad));
        Assert.Equal(2, rules.Calls);
    }

    private static S3EndpointParameters Parameters(string endpoint, string bucket, string key) => new()
    {
        Bucket = bucket,
        Key = key,
        Region = "auto",
        Endpoint = endpoint,
        ForcePathStyle = true,
        UseFIPS = false,
        UseDualStack = false,
        Accelerate = false,
        UseGlobalEndpoint = false,
        DisableMultiRegionAccessPoints = false,
        UseArnRegion = true,
    };

    private static string Schemes(Endpoint endpoint) => System.Text.Json.JsonSerializer.Serialize(endpoint.Attributes?["authSchemes"]);

    private sealed class CountingRules(IEndpointProvider inner) : IEndpointProvider
    {
        public int Calls;

        public Endpoint ResolveEndpoint(EndpointParameters parameters)
        {
            Calls++;
            return inner.ResolveEndpoint(parameters);
        }
    }
}
