import { Controller, Get, NotFoundException, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  FLAME_KINDS,
  LANE_TILES_MEDIA_TYPE,
  TILE_BUCKETS,
  TILE_LEVELS,
  type FlameGraphDto,
  type LanesDto,
  type StacksDto,
  type ThreadMapDto,
  type ThreadTimelineDto,
} from '@threadreel/model';
import { ReplayReader } from '@threadreel/store';
import {
  bad,
  nanos,
  oneOf,
  requiredUuid,
  resolution as resolutionParam,
  spanId,
  stackIdList,
  threadId,
  threadIdList,
  traceId,
} from './params.js';
import { ReplayService } from './replay.service.js';

@ApiTags('replay')
@Controller('api/captures/:id')
export class CaptureReplayController {
  constructor(
    private readonly reader: ReplayReader,
    private readonly replay: ReplayService,
  ) {}

  @Get('threads/:threadId/timeline')
  @ApiOperation({
    summary: "One thread's segments in [from, to) at a resolution (ns per pixel)",
    description:
      "Default window: the thread's observed life; default resolution: window / 1000. Sub-pixel segments are merged into summary items.",
  })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiParam({ name: 'threadId', description: 'thread surrogate id' })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'resolution', required: false })
  async timeline(
    @Param('id') id: string,
    @Param('threadId') thread: string,
    @Query('from') from: unknown,
    @Query('to') to: unknown,
    @Query('resolution') resolution: unknown,
  ): Promise<ThreadTimelineDto> {
    const t = threadId('threadId', thread);
    if (t === undefined) throw bad('threadId', 'a thread id');
    const fromNs = nanos('from', from);
    const toNs = nanos('to', to);
    if (fromNs !== undefined && toNs !== undefined && toNs < fromNs)
      throw bad('to', 'a time not before from');
    return this.replay.timeline(requiredUuid('id', id), t, fromNs, toNs, resolutionParam(resolution));
  }

  @Get('lanes')
  @ApiOperation({
    summary: 'Lanes of several threads over [from, to) at a resolution (ns per pixel), in one read',
    description:
      'threadIds: comma-separated thread ids (at most 256). Sub-pixel segments are merged into summary items, as in threads/:threadId/timeline.',
  })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiQuery({ name: 'threadIds', required: true })
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  @ApiQuery({ name: 'resolution', required: false })
  async lanes(@Param('id') id: string, @Query() query: Record<string, unknown>): Promise<LanesDto> {
    const ids = threadIdList('threadIds', query.threadIds);
    if (!ids?.length) throw bad('threadIds', 'comma-separated thread ids');
    const fromNs = nanos('from', query.from);
    const toNs = nanos('to', query.to);
    if (fromNs === undefined) throw bad('from', 'integer nanoseconds');
    if (toNs === undefined) throw bad('to', 'integer nanoseconds');
    if (toNs < fromNs) throw bad('to', 'a time not before from');
    return this.replay.lanes(requiredUuid('id', id), ids, fromNs, toNs, resolutionParam(query.resolution));
  }

  @Get('lane-tiles')
  @ApiOperation({
    summary:
      'Lane tiles of several threads at one level over [from, to), packed (what the replay UI zooms on)',
    description: `threadIds: comma-separated thread ids (at most 256); level: 0 … ${TILE_LEVELS - 1} (buckets of 1 µs·4^level; a tile holds ${TILE_BUCKETS} of them); from/to: ns. Binary (${LANE_TILES_MEDIA_TYPE}): see libs/model lane-tiles.ts. 404 when the capture has no tiles (correlated before they existed): read lanes instead.`,
  })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiQuery({ name: 'threadIds', required: true })
  @ApiQuery({ name: 'level', required: true })
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  async laneTiles(@Param('id') id: string, @Query() query: Record<string, unknown>): Promise<StreamableFile> {
    const ids = threadIdList('threadIds', query.threadIds);
    if (!ids?.length) throw bad('threadIds', 'comma-separated thread ids');
    const lv = typeof query.level === 'string' && /^\d{1,2}$/.test(query.level) ? Number(query.level) : NaN;
    if (!(lv >= 0 && lv < TILE_LEVELS)) throw bad('level', `an integer 0 … ${TILE_LEVELS - 1}`, query.level);
    const fromNs = nanos('from', query.from);
    const toNs = nanos('to', query.to);
    if (fromNs === undefined) throw bad('from', 'integer nanoseconds');
    if (toNs === undefined) throw bad('to', 'integer nanoseconds');
    if (toNs < fromNs) throw bad('to', 'a time not before from');
    const body = await this.replay.laneTiles(requiredUuid('id', id), ids, lv, fromNs, toNs);
    return new StreamableFile(body, { type: LANE_TILES_MEDIA_TYPE, length: body.byteLength });
  }

  @Get('stacks')
  @ApiOperation({ summary: 'Frames (leaf first) of interned stacks; ids: comma-separated stack ids' })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiQuery({ name: 'ids', required: true })
  async stacks(@Param('id') id: string, @Query('ids') ids: unknown): Promise<StacksDto> {
    const list = stackIdList('ids', ids);
    if (!list?.length) throw bad('ids', 'comma-separated stack ids');
    return this.replay.stacks(requiredUuid('id', id), list);
  }

  @Get('stacks/:stackId')
  @ApiOperation({ summary: "One interned stack's frames, leaf first" })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiParam({ name: 'stackId', description: 'stack id (signed 64-bit integer)' })
  async stack(@Param('id') id: string, @Param('stackId') stackId: string): Promise<StacksDto> {
    const list = stackIdList('stackId', stackId);
    if (list?.length !== 1) throw bad('stackId', 'a stack id');
    const out = await this.replay.stacks(requiredUuid('id', id), list);
    if (!out.stacks[0]?.frames.length)
      throw new NotFoundException(`stack ${stackId} not found in capture ${out.captureId}`);
    return out;
  }

  @Get('flame')
  @ApiOperation({
    summary: 'Flame graph as a JSON tree {name, value, samples, children} with root "all"',
    description:
      'kind=cpu: on-CPU samples (value = samples); offcpu: blocked segments weighted by ns by their blocked stack; wakers: blocked segments weighted by ns by the stack of the thread that woke them. Select by threadId, traceId (+ spanId: its bound threads while bound) and/or from/to (ns).',
  })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  @ApiQuery({ name: 'kind', required: false, enum: FLAME_KINDS })
  @ApiQuery({ name: 'threadId', required: false })
  @ApiQuery({ name: 'threadIds', required: false, description: 'comma-separated thread ids' })
  @ApiQuery({ name: 'traceId', required: false })
  @ApiQuery({ name: 'spanId', required: false })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiOkResponse({ description: '{ kind, unit, threadIds, fromNs, toNs, samples, root }' })
  async flame(@Param('id') id: string, @Query() query: Record<string, unknown>): Promise<FlameGraphDto> {
    return this.replay.flame(requiredUuid('id', id), oneOf('kind', query.kind, FLAME_KINDS, 'cpu'), {
      threadId: threadId('threadId', query.threadId),
      threadIds: threadIdList('threadIds', query.threadIds),
      traceId: traceId('traceId', query.traceId),
      spanId: spanId('spanId', query.spanId),
      from: nanos('from', query.from),
      to: nanos('to', query.to),
    });
  }

  @Get('thread-map')
  @ApiOperation({
    summary:
      'Every thread of the capture: tid, pid, names, runtime ids, pool, segment quality and the mappings that joined them',
  })
  @ApiParam({ name: 'id', description: 'capture uuid' })
  async threadMap(@Param('id') id: string): Promise<ThreadMapDto> {
    const captureId = requiredUuid('id', id);
    if (!(await this.reader.captureExists(captureId)))
      throw new NotFoundException(`capture ${captureId} not found`);
    return { captureId, threads: await this.reader.threadMap(captureId) };
  }
}
