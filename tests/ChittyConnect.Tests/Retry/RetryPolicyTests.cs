using System.Net;
using ChittyConnect.Api;
using ChittyConnect.Configuration;
using ChittyConnect.Retry;
using ChittyConnect.Tests.Api;
using Xunit;

namespace ChittyConnect.Tests.Retry;

/// <summary>The one retry policy of the API client and the event stream.</summary>
public sealed class RetryPolicyTests
{
    [Fact]
    public void Delays_double_with_jitter_up_to_the_cap()
    {
        var policy = RetryPolicy.ForEventStream(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        policy = new RetryPolicy(new Random(1)) { MaxAttempts = null, BaseDelay = policy.BaseDelay, MaxDelay = policy.MaxDelay, Jitter = policy.Jitter };

        var delays = Enumerable.Range(0, 10).Select(f => policy.Delay(f).TotalMilliseconds).ToArray();

        Assert.InRange(delays[0], 187.5, 250);
        Assert.InRange(delays[1], 375, 500);
        Assert.InRange(delays[2], 750, 1000);
        Assert.All(delays.Skip(6), d => Assert.InRange(d, 7500, 10000));
    }

    [Fact]
    public void What_the_server_asks_for_is_obeyed_first_then_is_the_floor_and_base_of_the_doubling()
    {
        var policy = new RetryPolicy(new Random(2)) { BaseDelay = TimeSpan.FromMilliseconds(250), MaxDelay = TimeSpan.FromSeconds(10) };

        Assert.Equal(3000, policy.Delay(0, TimeSpan.FromSeconds(3)).TotalMilliseconds);
        Assert.InRange(policy.Delay(1, TimeSpan.FromSeconds(3)).TotalMilliseconds, 4500, 6000);
        Assert.Equal(30000, policy.Delay(0, TimeSpan.FromSeconds(30)).TotalMilliseconds);
        Assert.Equal(30000, policy.Delay(1, TimeSpan.FromSeconds(30)).TotalMilliseconds);
        Assert.Equal(0, policy.Delay(0, TimeSpan.FromSeconds(-5)).TotalMilliseconds);
    }

    [Fact]
    public void The_api_policy_caps_a_server_delay_at_thirty_seconds_and_jitters_by_half()
    {
        var policy = RetryPolicy.ForApi(4);

        Assert.Equal(TimeSpan.FromSeconds(30), policy.Delay(0, TimeSpan.FromHours(1)));
        Assert.All(Enumerable.Range(0, 50), _ => Assert.InRange(policy.Delay(0).TotalMilliseconds, 125, 250));
        Assert.All(Enumerable.Range(0, 50), _ => Assert.InRange(policy.Delay(8).TotalMilliseconds, 5000, 10000));
    }

    [Theory]
    [InlineData(RetryClass.NotProcessed, false, true)]
    [InlineData(RetryClass.MaybeProcessed, true, true)]
    [InlineData(RetryClass.MaybeProcessed, false, false)]
    [InlineData(RetryClass.Permanent, true, false)]
    public void Only_a_request_that_was_not_processed_or_is_safe_to_repeat_is_tried_again(RetryClass failure, bool safeToRepeat, bool expected)
    {
        var policy = RetryPolicy.ForApi(2);

        Assert.Equal(expected, policy.ShouldRetry(1, failure, safeToRepeat));
        Assert.Equal(expected, policy.ShouldRetry(2, failure, safeToRepeat));
        Assert.False(policy.ShouldRetry(3, failure, safeToRepeat));
        Assert.Equal(expected, RetryPolicy.ForEventStream(TimeSpan.Zero, TimeSpan.Zero).ShouldRetry(1000, failure, safeToRepeat));
    }

    [Fact]
    public async Task The_api_client_waits_what_Retry_After_asks_and_gives_up_after_its_attempts()
    {
        var calls = new List<DateTime>();
        var handler = new StubHandler((_, _) =>
        {
            calls.Add(DateTime.UtcNow);
            var response = StubHandler.Json(HttpStatusCode.ServiceUnavailable, """{"error":"busy"}""");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return response;
        });
        var settings = new ChittyConnectionSettings
        {
            Endpoint = new Uri("http://127.0.0.1:9/"),
            ApiKey = new ChittySecret("k"),
            ChittyId = "c",
            MaxRetries = 1,
        };
        using var client = new ChittyApiClient(settings, handler);

        var error = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(CancellationToken.None));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1] - calls[0] >= TimeSpan.FromMilliseconds(950), $"the retry came after {(calls[1] - calls[0]).TotalMilliseconds} ms");
        Assert.Equal(2, client.Retry.MaxAttempts);
    }
}
